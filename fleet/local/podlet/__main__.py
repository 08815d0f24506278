import sys

from fleet.local.podlet.cli import podlet_main

sys.exit(podlet_main(sys.argv[1:]))
