"""The espeak-ng keyword-spotting dataset: shapes, balance, held-out speakers, determinism."""

from __future__ import annotations

import numpy as np

from kit.data import load_dataset
from kit.data.spec import lab_spec


def test_shapes_dtypes_and_labels(kws_tiny):
    spec = lab_spec("kws")
    assert kws_tiny.labels == spec.labels
    for name in ("train", "val", "test"):
        x, y = kws_tiny.split(name)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == (49, 10, 1)
        assert x.shape[0] == y.shape[0] > 0
        assert np.isfinite(x).all()
    assert set(np.unique(kws_tiny.y_train)) == set(range(len(spec.labels)))
    assert kws_tiny.test_groups.shape == kws_tiny.y_test.shape


def test_classes_are_balanced(kws_tiny):
    counts = np.bincount(kws_tiny.y_train, minlength=len(kws_tiny.labels))
    assert counts.min() == counts.max()


def test_test_speakers_never_heard_in_training(kws_tiny):
    # espeak-ng speaker ids are "<voice>+<variant>"; held-out variants are unseen in training for every
    # voice (the held-out synthesizer's groups are "flite:<voice>")
    test_variants = {g.split("+", 1)[1] for g in kws_tiny.test_groups if not g.startswith("flite:")}
    meta_groups = kws_tiny.metadata["test_group_names"]
    assert sorted(set(kws_tiny.test_groups.tolist())) == meta_groups
    assert kws_tiny.metadata["speakers"]["test"] == len(meta_groups)
    # regenerate the training speaker list the same way the generator does
    from kit.data.speech import plan_speakers
    speakers, held = plan_speakers(lab_spec("kws"), 0, kws_tiny.metadata["size_fraction"])
    train_speakers = {s.id for s in speakers if s.variant_index not in held}
    assert not train_speakers & set(kws_tiny.test_groups.tolist())
    assert not {s.split("+", 1)[1] for s in train_speakers} & test_variants


def test_same_seed_same_arrays_other_seed_differs(kws_tiny):
    again = load_dataset("kws", seed=0, size="tiny", use_cache=False)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(getattr(kws_tiny, name), getattr(again, name)), name
    other = load_dataset("kws", seed=1, size="tiny", use_cache=False)
    assert not np.array_equal(other.x_train[:10], kws_tiny.x_train[:10])


def test_cached_dataset_is_reused(kws_tiny):
    cached = load_dataset("kws", seed=0, size="tiny")
    assert cached.metadata["cache"] == kws_tiny.metadata["cache"]
    assert np.array_equal(cached.x_test, kws_tiny.x_test)


def test_silence_is_quieter_than_words(kws_tiny):
    silence = kws_tiny.labels.index("_silence_")
    yes = kws_tiny.labels.index("yes")
    # MFCC coefficient 0 tracks log energy
    energy = kws_tiny.x_train[..., 0, 0].max(axis=1)
    assert energy[kws_tiny.y_train == silence].mean() < energy[kws_tiny.y_train == yes].mean()


def test_dataset_key_names_the_cached_file(kws_tiny):
    from kit.data import dataset_key
    key = dataset_key("kws", seed=0, size="tiny")
    assert key in kws_tiny.metadata["cache"]
    assert dataset_key("kws", seed=1, size="tiny") != key
    assert dataset_key("kws", seed=0, size="small") != key


def test_unknown_espeak_voice_is_a_data_error():
    import pytest
    from kit.data.spec import LabSpec
    from kit.errors import DataError
    spec = lab_spec("kws")
    broken = LabSpec(name="kws-broken", labels=spec.labels, dataset={**spec.dataset, "voices": ["zz-nope"]},
                     features=spec.features, input_shape=spec.input_shape)
    with pytest.raises(DataError, match="zz-nope"):
        load_dataset(broken, size="tiny", use_cache=False)


def test_missing_espeak_is_reported_with_the_install_command(monkeypatch):
    import pytest
    from kit.data import speech
    from kit.errors import ToolMissingError
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissingError) as caught:
        speech.espeak_binary()
    assert "apt-get install" in caught.value.hint


def test_fewer_espeak_variants_than_asked_are_clamped_and_held_out_stays_disjoint():
    from kit.data.speech import plan_speakers, variant_counts

    spec = lab_spec("kws")  # asks for 101 variants, 20 held out
    fake = tuple(f"v{i}" for i in range(10))
    assert variant_counts(spec.dataset, 10) == (10, 2, {"variants_per_voice_requested": 101,
                                                        "variants_available": 10, "held_out_variants": 2})
    assert variant_counts(spec.dataset, 200)[2] is None
    for fraction in (1.0, 0.25):
        speakers, held = plan_speakers(spec, 0, fraction, variants=fake)
        assert {s.variant_index for s in speakers} <= set(range(10)) and held
        test_variants = {s.variant for s in speakers if s.variant_index in held}
        train_variants = {s.variant for s in speakers if s.variant_index not in held}
        assert train_variants and not test_variants & train_variants
        assert all(s.variant == fake[s.variant_index] for s in speakers)


def test_the_held_out_synthesizer_is_only_ever_in_the_test_split():
    from kit.data import load_raw

    raw = load_raw("kws", seed=0, size="tiny")
    flite = np.char.startswith(raw.group, "flite:")
    festival = np.char.startswith(raw.group, "festival:")
    assert flite.any() and festival.any()
    assert set(raw.split[flite].tolist()) == {"test"}
    assert set(raw.split[festival].tolist()) <= {"train", "val"}      # festival trains, never tests
    assert sorted(set(raw.group[flite].tolist())) == ["flite:awb", "flite:kal16", "flite:rms", "flite:slt"]
    assert raw.info["held_out_synthesizers"] == ["flite"]
    clips = raw.info["synthesizer_clips"]
    assert clips["flite"]["train"] == clips["flite"]["val"] == 0 and clips["flite"]["test"] == int(flite.sum())


def test_a_lab_names_its_silence_and_unknown_classes():
    from kit.data.speech import class_names

    yesno = lab_spec("kws-yesno")
    assert yesno.labels == ["yes", "no", "noise", "unknown"]
    assert class_names(yesno.dataset) == ("noise", "unknown")
    assert class_names(lab_spec("kws").dataset) == ("_silence_", "_unknown_")
    assert class_names({}) == ("_silence_", "_unknown_")
    from kit.data import load_raw

    raw = load_raw("kws-yesno", seed=0, size="tiny", splits=("test",))
    counts = np.bincount(raw.y, minlength=4)
    assert counts.min() > 0 and counts[2] == counts[0]  # one noise clip per take, like one "yes"
