import sys

from mqtt_bridge.main import main

sys.exit(main())
