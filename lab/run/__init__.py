"""Running a campaign: the session, the rig it builds (emulated lab included), interlocks, stops and refills."""
