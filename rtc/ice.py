"""ICE configuration: which STUN/TURN servers peers use and which host addresses the server announces."""
from __future__ import annotations

import logging

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from config import Config

log = logging.getLogger(__name__)


def configure_host_addresses(hosts: list[str]) -> None:
    """Gather ICE candidates on exactly these addresses (e.g. 127.0.0.1 for loopback, a pod's address)."""
    if not hosts:
        return

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in hosts if (':' in h and use_ipv6) or (':' not in h and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses  # type: ignore[assignment]
    log.info('ICE host addresses: %s', ', '.join(hosts))


def rtc_configuration(config: Config) -> RTCConfiguration:
    """The server's peer configuration: only the configured ICE servers, never a public default."""
    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=server.urls, username=server.username, credential=server.credential)
        for server in config.ice_servers
    ])


def ice_servers_body(config: Config) -> dict:
    """The `/api/v1/webrtc/ice-servers` body (read per request, so fresh settings are served)."""
    return {'iceServers': [server.to_dict() for server in config.ice_servers]}


def announce_addresses(sdp: str, addresses: list[str]) -> str:
    """Add a copy of every host candidate with each announced address (a pod's public IP behind 1:1 NAT)."""
    if not addresses:
        return sdp
    lines: list[str] = []
    for line in sdp.split('\r\n'):
        lines.append(line)
        parts = line.split()
        if line.startswith('a=candidate:') and len(parts) >= 8 and parts[7] == 'host':
            for index, address in enumerate(addresses, start=1):
                copy = list(parts)
                copy[0] = f'{parts[0]}n{index}'
                copy[4] = address
                lines.append(' '.join(copy))
    return '\r\n'.join(lines)
