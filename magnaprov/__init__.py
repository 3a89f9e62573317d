"""magnaprov: SIP phone provisioning server."""
