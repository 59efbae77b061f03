"""The rig's and the campaign's TOML files: ``lab.toml``'s schema (lab_toml) and reading and writing them (files)."""
