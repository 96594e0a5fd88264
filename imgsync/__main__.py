import sys

from imgsync import cli

sys.exit(cli.main())
