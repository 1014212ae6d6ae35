from __future__ import annotations

from pathlib import Path

from services.stack.config import StackConfig, render_postgresql_conf, render_server_properties


def test_everything_binds_to_loopback_on_the_configured_ports(tmp_path: Path) -> None:
    config = StackConfig(state_dir=tmp_path, kafka_port=39092, kafka_controller_port=39093, pg_port=35432)
    props = dict(line.split("=", 1) for line in render_server_properties(config).splitlines())
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:39092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:39093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"].startswith(str(tmp_path))
    conf = render_postgresql_conf(config)
    assert "listen_addresses = '127.0.0.1'" in conf and "port = 35432" in conf
    assert "shared_preload_libraries = 'timescaledb'" in conf


def test_cluster_ids_never_look_like_options() -> None:
    from services.stack.kafka import _random_cluster_id

    ids = [_random_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
