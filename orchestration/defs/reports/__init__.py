"""The retention report (static HTML with charts) as an asset; charts shown in the UI."""
