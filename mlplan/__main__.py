import sys

from mlplan._cli import main

sys.exit(main())
