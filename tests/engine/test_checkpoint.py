import pytest
import torch
from safetensors.torch import save_file

from srdistill.engine import checkpoint as ck
from srdistill.errors import CheckpointError
from srdistill.models import MultiExitSRResNet, SRResNet


def test_module_round_trip_rebuilds_architecture(tmp_path):
    net = MultiExitSRResNet(2, 3, [1], 8)
    ck.save_module(net, tmp_path / "m.safetensors")
    back = ck.load_module(tmp_path / "m.safetensors")
    assert isinstance(back, MultiExitSRResNet) and back.exit_blocks == [1, 3]
    for (k, a), (_, b) in zip(net.state_dict().items(), back.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_foreign_and_mismatched_checkpoints_are_clear_errors(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not written by srdistill"):
        ck.load_module(tmp_path / "foreign.safetensors")
    ck.save_module(SRResNet(2, 2, 8), tmp_path / "small.safetensors")
    with pytest.raises(CheckpointError, match="another architecture or size"):
        ck.load_state_into(SRResNet(2, 3, 8), tmp_path / "small.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="cannot read"):
        ck.load_module(tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        ck.load_module(tmp_path / "absent.safetensors")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_state_file_refuses_arbitrary_objects(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "state.pt").write_bytes(pickle.dumps({"step": 1, "x": Evil()}))
    with pytest.raises(CheckpointError, match="refused training state .*never unpickles code"):
        ck.load_state(tmp_path)


def test_interrupted_save_keeps_previous_latest(tmp_path, monkeypatch):
    manager = ck.CheckpointManager(tmp_path, keep=2)
    nets = {"model": SRResNet(2, 1, 8)}
    manager.save(1, nets, {"note": torch.tensor(1)})
    real = ck.save_module

    def crash(module, path, extra_meta=None):
        real(module, path, extra_meta)
        raise KeyboardInterrupt  # killed after the weights, before state.pt

    monkeypatch.setattr(ck, "save_module", crash)
    with pytest.raises(KeyboardInterrupt):
        manager.save(2, nets, {"note": torch.tensor(2)})
    monkeypatch.setattr(ck, "save_module", real)
    latest = manager.latest()
    assert latest.name == "step_00000001"
    assert ck.load_state(latest)["step"] == 1
    # A pointer to a folder that lost its state file falls back to the newest complete one.
    (manager.dir / "latest").write_text("step_00000009")
    assert manager.latest().name == "step_00000001"


def test_pruning_keeps_the_newest(tmp_path):
    manager = ck.CheckpointManager(tmp_path, keep=2)
    for step in (1, 2, 3):
        manager.save(step, {"model": SRResNet(2, 1, 8)}, {})
    assert sorted(p.name for p in manager.dir.glob("step_*")) == ["step_00000002", "step_00000003"]


def test_the_same_network_saves_to_the_same_bytes(tmp_path):
    # safetensors orders its header by hash map; records name weights by SHA-256.
    from srdistill.engine.checkpoint import save_module
    from srdistill.models import SRResNet

    torch.manual_seed(0)
    net = SRResNet(2, 2, 8)
    meta = {"imported_from": "x.pth", "source_sha256": "0" * 64, "imported_layout": "y"}
    files = []
    for i in range(4):
        save_module(net, tmp_path / f"{i}.safetensors", meta)
        files.append((tmp_path / f"{i}.safetensors").read_bytes())
    assert len(set(files)) == 1
    from srdistill.deploy.loading import load_sr_model

    loaded = load_sr_model(tmp_path / "0.safetensors").network
    want = net.state_dict()
    assert all(torch.equal(v, want[k]) for k, v in loaded.state_dict().items())
