"""DatasetFolder / ImageFolder and their helpers, on folders of PNGs made with Pillow and of
NumPy files, with torchvision's semantics (sorted classes, sample order, extension rules,
the errors for empty or missing class folders)."""

from __future__ import annotations

import numpy as np
import pytest

from mbtorch.vision.datasets import (
    IMG_EXTENSIONS,
    DatasetFolder,
    ImageFolder,
    VisionDataset,
    default_loader,
    find_classes,
    has_file_allowed_extension,
    make_dataset,
)

Image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")


def png(path, value, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (3, 2), value).save(path)


@pytest.fixture
def pets(tmp_path):
    png(tmp_path / "dog" / "b.png", 20)
    png(tmp_path / "dog" / "a.PNG", 10)  # extensions match case-insensitively
    png(tmp_path / "dog" / "deeper" / "c.png", 30)
    png(tmp_path / "cat" / "z.png", (1, 2, 3), mode="RGB")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "README.png").write_bytes(b"")  # a file in root is not a sample
    return tmp_path


def test_image_folder(pets):
    ds = ImageFolder(pets)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.samples == [(str(pets / "cat" / "z.png"), 0), (str(pets / "dog" / "a.PNG"), 1),
                          (str(pets / "dog" / "b.png"), 1),
                          (str(pets / "dog" / "deeper" / "c.png"), 1)]
    assert ds.imgs is ds.samples and ds.targets == [0, 1, 1, 1] and len(ds) == 4
    assert ds.extensions == IMG_EXTENSIONS and ds.loader is default_loader
    img, target = ds[3]
    assert img.mode == "RGB" and img.size == (3, 2) and target == 1
    assert np.asarray(img).tolist() == [[[30] * 3] * 3] * 2
    assert np.asarray(ds[0][0])[1, 2].tolist() == [1, 2, 3]


def test_transforms_and_repr(pets):
    ds = ImageFolder(pets, transform=np.asarray, target_transform=lambda t: ["cat", "dog"][t])
    x, y = ds[1]
    assert isinstance(x, np.ndarray) and x.shape == (2, 3, 3) and y == "dog"
    lines = repr(ds).splitlines()
    assert lines[:4] == ["Dataset ImageFolder", "    Number of datapoints: 4",
                         f"    Root location: {pets}", "    StandardTransform"]
    assert lines[4].startswith("Transform: <built-in function asarray>")


def test_dataset_folder_with_a_custom_loader(tmp_path):
    for cls, values in {"b": [1, 2], "a": [3]}.items():
        for v in values:
            (tmp_path / cls).mkdir(exist_ok=True)
            np.save(tmp_path / cls / f"{v}.npy", np.full(2, v))
    (tmp_path / "a" / "skip.txt").write_text("x")
    ds = DatasetFolder(tmp_path, loader=np.load, extensions=(".npy",))
    assert [(x.tolist(), t) for x, t in (ds[i] for i in range(len(ds)))] == [
        ([3, 3], 0), ([1, 1], 1), ([2, 2], 1)]
    only_two = DatasetFolder(tmp_path, loader=np.load, allow_empty=True,
                             is_valid_file=lambda p: p.endswith("/2.npy"))
    assert only_two.targets == [1] and only_two.classes == ["a", "b"]
    assert only_two.extensions is None


def test_extensions_and_is_valid_file_exclude_each_other(pets):
    msg = "Both extensions and is_valid_file cannot be None or not None at the same time"
    with pytest.raises(ValueError, match=msg):
        DatasetFolder(pets, loader=default_loader)
    with pytest.raises(ValueError, match=msg):
        DatasetFolder(pets, loader=default_loader, extensions=(".png",),
                      is_valid_file=lambda p: True)
    keep = ImageFolder(pets, is_valid_file=lambda p: p.endswith(("b.png", ".txt")),
                       allow_empty=True)
    assert [s[0].rsplit("/", 1)[1] for s in keep.samples] == ["notes.txt", "b.png"]


def test_empty_and_missing_class_folders(tmp_path, pets):
    (pets / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as e:
        ImageFolder(pets)
    assert str(e.value) == ("Found no valid file for the classes empty. Supported extensions "
                            "are: " + ", ".join(IMG_EXTENSIONS))
    ds = ImageFolder(pets, allow_empty=True)
    assert ds.classes == ["cat", "dog", "empty"] and sorted(set(ds.targets)) == [0, 1]
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "x.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        ImageFolder(bare)
    with pytest.raises(FileNotFoundError):
        ImageFolder(tmp_path / "does-not-exist")


def test_helpers(pets):
    assert has_file_allowed_extension("A.JPEG", (".jpeg", ".png"))
    assert has_file_allowed_extension("x.npy", ".npy")
    assert not has_file_allowed_extension("x.npy.bak", [".npy"])
    assert find_classes(pets) == (["cat", "dog"], {"cat": 0, "dog": 1})
    assert make_dataset(pets, extensions=".png") == [
        (str(pets / "cat" / "z.png"), 0), (str(pets / "dog" / "a.PNG"), 1),
        (str(pets / "dog" / "b.png"), 1), (str(pets / "dog" / "deeper" / "c.png"), 1)]
    assert make_dataset(pets, {"dog": 5}, extensions=(".png",))[0][1] == 5
    with pytest.raises(ValueError, match="'class_to_index' must have at least one entry"):
        make_dataset(pets, {}, extensions=(".png",))
    with pytest.raises(ValueError, match="The class_to_idx parameter cannot be None."):
        DatasetFolder.make_dataset(pets, None, extensions=(".png",))


def test_find_classes_can_be_overridden(pets):
    class DogsOnly(ImageFolder):
        def find_classes(self, directory):
            return ["dog"], {"dog": 0}

    ds = DogsOnly(pets)
    assert ds.classes == ["dog"] and ds.targets == [0, 0, 0]


def test_vision_dataset_base():
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        VisionDataset("r", transforms=lambda x, y: (x, y), transform=abs)
    base = VisionDataset("~/data", transform=abs, target_transform=str)
    assert not base.root.startswith("~")
    assert base.transforms(-2, 3) == (2, "3")
    with pytest.raises(NotImplementedError):
        base[0]
