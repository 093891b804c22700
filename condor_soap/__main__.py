import sys

from condor_soap.cli import main

sys.exit(main())
