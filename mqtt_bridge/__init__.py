"""The MQTT bridge process: Shelly, Tasmota and Home Assistant publish; energy_core stores."""
