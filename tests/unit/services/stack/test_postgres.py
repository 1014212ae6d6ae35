"""As root the cluster runs as the `postgres` account, which must be able to reach the checkout's state folder."""

from __future__ import annotations

from pathlib import Path

from services.stack.postgres import closed_ancestors


def test_private_folders_above_the_cluster_are_found(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "checkout" / ".stack").mkdir(parents=True)
    private.chmod(0o700)
    try:
        assert private in closed_ancestors(private / "checkout" / ".stack" / "pg")
        private.chmod(0o711)
        assert private not in closed_ancestors(private / "checkout" / ".stack" / "pg")
    finally:
        private.chmod(0o755)
