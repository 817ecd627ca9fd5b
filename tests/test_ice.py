"""ICE settings: no outside servers by default, servers from the environment, announced addresses."""
from __future__ import annotations

import json

from config import Config
from rtc.ice import announce_addresses, ice_servers_body

ANSWER = ('v=0\r\na=candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host\r\n'
          'a=candidate:2 1 udp 1 1.2.3.4 9 typ srflx raddr 0.0.0.0 rport 0\r\n')


def test_no_ice_servers_unless_configured() -> None:
    """By default clients are told about no STUN or TURN server (nothing outside is ever contacted)."""
    assert ice_servers_body(Config.from_env({})) == {'iceServers': []}


def test_turn_and_stun_servers_come_from_the_environment() -> None:
    """TURN credentials and STUN URLs from the environment reach clients, in the browser's shape."""
    config = Config.from_env({'DREAMSTAGE_STUN_URLS': 'stun:stun.example:3478',
                              'DREAMSTAGE_TURN_URLS': 'turn:turn.example:3478?transport=tcp',
                              'DREAMSTAGE_TURN_USERNAME': 'pod', 'DREAMSTAGE_TURN_CREDENTIAL': 'secret'})
    servers = ice_servers_body(config)['iceServers']
    assert servers[0] == {'urls': ['stun:stun.example:3478'], 'username': None, 'credential': None}
    assert servers[1]['credential'] == 'secret'
    as_json = Config.from_env({'DREAMSTAGE_ICE_SERVERS': json.dumps([{'urls': 'turn:t.example', 'username': 'u',
                                                                      'credential': 'c'}])})
    assert ice_servers_body(as_json)['iceServers'] == [{'urls': ['turn:t.example'], 'username': 'u', 'credential': 'c'}]


def test_announced_addresses_add_host_candidates() -> None:
    """A pod's public address is announced beside each host candidate; other candidates stay as they are."""
    rewritten = announce_addresses(ANSWER, ['203.0.113.7'])
    assert 'a=candidate:1n1 1 udp 2130706431 203.0.113.7 40000 typ host' in rewritten
    assert rewritten.count('typ srflx') == 1 and '10.0.0.5 40000' in rewritten
