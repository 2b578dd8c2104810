import pytest
import torch

from hpo_lab.checkpoints import CheckpointStore, check_weights_only, make_artifact_store
from hpo_lab.storage import SideStore


@pytest.fixture
def store(tmp_path):
    return CheckpointStore(
        make_artifact_store(tmp_path / "art", None), SideStore("sqlite://"), "st", keep_last=2
    )


def test_save_find_load_roundtrip(store):
    state = {
        "model": {"w": torch.arange(6.0).reshape(2, 3)},
        "epoch": 3,
        "rng": torch.get_rng_state(),
    }
    ref = store.save(0, 3, state)
    assert ref.size > 0 and ref.key.startswith("st/trial-0/step-3-")
    got = store.load(store.find(0).key)
    assert torch.equal(got["model"]["w"], state["model"]["w"]) and got["epoch"] == 3
    assert torch.equal(got["rng"], state["rng"])


def test_retention_keeps_the_last_and_the_pinned(store, tmp_path):
    refs = [store.save(0, s, {"x": torch.tensor(float(s))}) for s in range(4)]
    assert [r.step for r in store.list(0)] == [2.0, 3.0]
    store.pin(refs[2])
    for s in (4, 5):
        store.save(0, s, {"x": torch.tensor(float(s))})
    kept = store.list(0)
    assert [r.step for r in kept] == [2.0, 4.0, 5.0]  # the last two and the pinned one
    files = sorted(p.name for p in (tmp_path / "art" / "st" / "trial-0").iterdir())
    assert len(files) == 3
    with pytest.raises(LookupError, match=r"no checkpoint at step 3; kept steps: \[2, 4, 5\]"):
        store.find(0, 3)
    assert store.find(0, 2).pinned
    with pytest.raises(LookupError, match="removed before it could be kept"):
        store.pin(refs[0])


def test_missing_and_unsafe(store):
    with pytest.raises(LookupError, match="trial 7 has no checkpoint"):
        store.find(7)

    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"state\['model'\]\[0\] is a .*Opaque"):
        store.save(0, 0, {"model": [Opaque()]})
    assert store.list(0) == []


def test_check_weights_only_accepts_state_dicts():
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    check_weights_only({"m": net.state_dict(), "o": opt.state_dict(), "s": torch.Size([2])})


def test_bad_keep_last_and_store():
    with pytest.raises(ValueError, match="keep_checkpoints"):
        CheckpointStore(object(), SideStore("sqlite://"), "x", keep_last=0)
    with pytest.raises(TypeError, match="artifacts must be"):
        make_artifact_store(42, None)
