"""sfemu: a local Salesforce org emulator.

It speaks the same HTTP surface as a Salesforce org (REST API under /services/data, OAuth 2.0 under
/services/oauth2, a ConnectedApp subset of the SOAP Metadata API under /services/Soap/m) so any real Salesforce
client can be pointed at it. See sfemu/docs/internals.md for its contracts and docs/design.md for how the collection fits together.
"""

__version__ = "0.1.0"

# Highest API version the emulator serves; 68.0 is Winter '27 (see server.RELEASES).
LATEST_API_VERSION = "68.0"
OLDEST_API_VERSION = "31.0"
