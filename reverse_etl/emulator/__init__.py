"""Local marketing-platform emulator (Klaviyo, HubSpot, SALESmanago, Braze, webhooks)."""

from reverse_etl.emulator.server import (
    DEFAULT_CREDENTIALS,
    FAULT_KINDS,
    EmulatorConfig,
    EmulatorServer,
    RunningEmulator,
)

__all__ = [
    "DEFAULT_CREDENTIALS",
    "FAULT_KINDS",
    "EmulatorConfig",
    "EmulatorServer",
    "RunningEmulator",
]
