"""What people do and choose: events, controls and preferences (services writes, selectors
reads), the announcement that a person's activity changed (hooks), and the events read
back as the model's sequences (sequences). Importing this package imports no submodule."""
