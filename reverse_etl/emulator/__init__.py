"""Local marketing-platform emulator (Klaviyo, HubSpot, SALESmanago, Braze, webhooks)."""

from reverse_etl.emulator.server import EmulatorServer, RunningEmulator
from reverse_etl.emulator.state import DEFAULT_CREDENTIALS, FAULT_KINDS, EmulatorConfig

__all__ = [
    "DEFAULT_CREDENTIALS",
    "FAULT_KINDS",
    "EmulatorConfig",
    "EmulatorServer",
    "RunningEmulator",
]
