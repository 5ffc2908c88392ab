"""The command-line edge. No business logic: parse, call the packages, print.

Start-up time is felt on every command: modules here import only typer at the top and import
the packages they drive inside the command functions.
"""
