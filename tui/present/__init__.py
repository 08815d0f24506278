"""Pure presentation: the tables, cells and commands the screens and ``--once`` share."""
