"""Jobs, schedules (in the shop's time zone), declarative automation and alerting."""
