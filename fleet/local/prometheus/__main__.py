import sys

from fleet.local.prometheus._discover import main

sys.exit(main(sys.argv[1:]))
