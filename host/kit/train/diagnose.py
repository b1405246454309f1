"""Why a model trained on the student's own data stays near chance, and what to do about it.

A model that answers one class for everything looks "trained" on a progress bar; the card's
accuracy next to the chance level tells the truth. When the held-out accuracy is close to
chance, this names the likely causes from the numbers kit has: per-class counts, per-class
signal levels, the confusion matrix and the size of the test set.
"""

from __future__ import annotations

from typing import Any

NEAR_CHANCE_SHARE = 0.25     # near chance: accuracy below chance + this share of the way to 100%
SILENT_DBFS = -45.0          # a class whose median clip is quieter than this holds (almost) no sound
IMBALANCE_RATIO = 3.0        # largest class over smallest
FEW_TRAIN_EXAMPLES = 20      # per class, before augmentation
ONE_CLASS_SHARE = 0.8        # share of predictions falling in one class
SMALL_TEST_SET = 10
# the class of background noise only, when a lab's [dataset] names no silence_label (kit.data.speech)
DEFAULT_SILENCE_LABEL = "_silence_"


def near_chance(accuracy: float | None, classes: int) -> bool:
    if accuracy is None or classes < 2:
        return False
    chance = 1.0 / classes
    return accuracy < chance + NEAR_CHANCE_SHARE * (1.0 - chance)


def _original_train_counts(metadata: dict[str, Any], labels: list[str]) -> dict[str, int]:
    counts = metadata.get("counts", {}).get("train", {})
    copies = int(metadata.get("augmented_copies", 0))
    return {label: int(counts.get(label, 0)) // (copies + 1) for label in labels}


def silence_label(dataset: dict[str, Any]) -> str:
    """The lab's quiet class (kws-yesno calls it `noise`): quiet by design, never a cause."""
    return str(dataset.get("silence_label") or DEFAULT_SILENCE_LABEL)


def reasons(card: dict[str, Any], metadata: dict[str, Any], quiet_label: str = DEFAULT_SILENCE_LABEL) -> list[str]:
    """The likely causes, each with its numbers and the fix; `quiet_label` is the lab's class of
    background noise only, the one class whose clips may be nearly silent."""
    labels = list(card.get("labels", []))
    found = []
    levels = metadata.get("class_levels", {})
    if metadata.get("feature_type") == "mfcc":
        quiet = {label: level for label, level in levels.items() if level < SILENT_DBFS and label != quiet_label}
        if quiet:
            shown = ", ".join(f"{label} {level:.0f} dBFS" for label, level in quiet.items())
            found.append(f"nearly silent clips: median level {shown} (speech is about -30 to -10 dBFS): "
                         "record closer to the microphone or raise its gain")
    counts = _original_train_counts(metadata, labels)
    present = {label: n for label, n in counts.items() if n}
    if present and max(present.values()) >= IMBALANCE_RATIO * min(present.values()):
        big, small = max(present, key=present.get), min(present, key=present.get)
        found.append(f"unbalanced classes: {big} has {present[big]} training examples, {small} {present[small]}: "
                     f"record more of {small} (or fewer of {big})")
    few = {label: n for label, n in counts.items() if n < FEW_TRAIN_EXAMPLES}
    if few:
        shown = ", ".join(f"{label} {n}" for label, n in few.items())
        found.append(f"too few examples: {shown} for training (after the test and validation split); "
                     "record about 30 or more per class")
    matrix = card.get("confusion_matrix") or []
    total = sum(sum(row) for row in matrix)
    if total:
        predicted = [sum(row[j] for row in matrix) for j in range(len(matrix))]
        top = max(range(len(predicted)), key=lambda j: predicted[j])
        if predicted[top] >= ONE_CLASS_SHARE * total:
            found.append(f"the model answers {labels[top] if top < len(labels) else top} for {predicted[top]} of "
                         f"{total} test examples: the classes do not differ enough in what it hears or sees; "
                         "make the examples of each class more distinct and more varied")
    tested = int(card.get("test_samples", total))
    if tested < SMALL_TEST_SET:
        found.append(f"only {tested} test examples: the accuracy itself is a rough guess; record more per class")
    if not found:
        found.append("no single cause stands out: check the folders hold the right examples, "
                     "and that each class sounds (or looks, or moves) different from the others")
    return found


def diagnose(card: dict[str, Any], metadata: dict[str, Any],
             quiet_label: str = DEFAULT_SILENCE_LABEL) -> dict[str, Any] | None:
    """None when the held-out int8 accuracy is clearly above chance, else what to tell the student
    (`quiet_label`: the lab's [dataset] silence_label, see `silence_label`)."""
    classes = len(card.get("labels", []))
    accuracy = card.get("accuracy_int8")
    if card.get("task") != "classification" or not near_chance(accuracy, classes):
        return None
    chance = 1.0 / classes
    return {"near_chance": True, "accuracy_int8": accuracy, "chance": round(chance, 4),
            "threshold": round(chance + NEAR_CHANCE_SHARE * (1 - chance), 4), "reasons": reasons(card, metadata, quiet_label)}


def diagnosis_text(found: dict[str, Any]) -> str:
    lines = [f"the model is near chance: int8 accuracy {100 * found['accuracy_int8']:.1f}% on the held-out examples, "
             f"chance is {100 * found['chance']:.1f}% (kit expects more than {100 * found['threshold']:.1f}%)"]
    lines += [f"  - {reason}" for reason in found["reasons"]]
    return "\n".join(lines)
