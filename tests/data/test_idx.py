"""IDX reader and writer: round trips for every element type, gzip detected by content,
the exact header bytes, and clear errors (naming the file) for damaged files."""

import gzip

import numpy as np
import pytest

from axon.data.idx import read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_every_dtype(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal((3, 4, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    path = write_idx(tmp_path / "a.idx", a, gzip=compress)
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative
    assert b.shape == a.shape
    np.testing.assert_array_equal(b, a)
    assert b.flags.writeable


@pytest.mark.parametrize("shape", [(7,), (2, 3), (10, 28, 28), (2, 3, 4, 5), (0, 28, 28)])
def test_round_trip_shapes(tmp_path, shape):
    a = np.arange(np.prod(shape), dtype=np.int64).reshape(shape).astype(np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x.gz", a)), a)


def test_mnist_header_bytes_and_big_endian(tmp_path):
    images = np.zeros((10, 28, 28), np.uint8)
    raw = write_idx(tmp_path / "img", images, gzip=False).read_bytes()
    assert raw[:4] == bytes.fromhex("00000803")  # magic 2051
    assert raw[4:16] == (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert len(raw) == 16 + 10 * 28 * 28
    labels = write_idx(tmp_path / "lab", np.arange(10, dtype=np.uint8), gzip=False)
    assert labels.read_bytes()[:8] == bytes.fromhex("00000801") + (10).to_bytes(4, "big")
    # multi-byte elements are stored big-endian
    shorts = write_idx(tmp_path / "s", np.array([1, 256, -2], np.int16), gzip=False)
    assert shorts.read_bytes()[2] == 0x0B
    assert shorts.read_bytes()[8:] == bytes.fromhex("00010100fffe")


def test_gzip_is_detected_by_content_not_name(tmp_path):
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    gz_named_raw = write_idx(tmp_path / "compressed.idx", a, gzip=True)
    raw_named_gz = write_idx(tmp_path / "plain.gz", a, gzip=False)
    assert gz_named_raw.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(gz_named_raw), a)
    np.testing.assert_array_equal(read_idx(raw_named_gz), a)


def test_reads_a_file_compressed_by_gzip_module(tmp_path):
    # as upstream files are: plain gzip around the raw IDX bytes
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    raw = write_idx(tmp_path / "raw", a, gzip=False).read_bytes()
    (tmp_path / "up.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "up.gz"), a)


def test_gzip_output_is_deterministic(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    one = write_idx(tmp_path / "same", a).read_bytes()
    two = write_idx(tmp_path / "same", a).read_bytes()
    assert one == two


def _raw(tmp_path, a) -> bytes:
    return write_idx(tmp_path / "tmp.raw", a, gzip=False).read_bytes()


def test_bad_magic_names_the_file(tmp_path):
    bad = tmp_path / "notidx.gz"
    bad.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match=r"notidx\.gz.*not an IDX file.*0x12340801"):
        read_idx(bad)


def test_unknown_type_code(tmp_path):
    bad = tmp_path / "weird"
    bad.write_bytes(b"\x00\x00\x0a\x01" + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match=r"weird.*not an IDX file.*0x00000a01"):
        read_idx(bad)


def test_truncated_data_raw(tmp_path):
    raw = _raw(tmp_path, np.zeros((10, 28, 28), np.uint8))
    cut = tmp_path / "cut-images"
    cut.write_bytes(raw[:-100])
    with pytest.raises(ValueError, match=r"cut-images.*truncated.*7840 data bytes.*7740"):
        read_idx(cut)


def test_truncated_header(tmp_path):
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x0a")  # 3 dims declared, 1 given
    with pytest.raises(ValueError, match=r"short.*truncated.*dimensions"):
        read_idx(short)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.*truncated.*header"):
        read_idx(empty)


def test_truncated_gzip_stream(tmp_path):
    a = np.random.default_rng(0).integers(0, 255, (50, 28, 28)).astype(np.uint8)
    data = write_idx(tmp_path / "full.gz", a).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz"):
        read_idx(cut)


def test_gzip_of_a_short_payload_is_truncated(tmp_path):
    raw = _raw(tmp_path, np.zeros((4, 5), np.int16))
    path = tmp_path / "shortpayload.gz"
    path.write_bytes(gzip.compress(raw[:-3]))
    with pytest.raises(ValueError, match=r"shortpayload\.gz.*truncated"):
        read_idx(path)


def test_trailing_bytes_are_a_wrong_size(tmp_path):
    raw = _raw(tmp_path, np.zeros(10, np.uint8))
    long = tmp_path / "long-labels"
    long.write_bytes(raw + b"\x00")
    with pytest.raises(ValueError, match=r"long-labels.*wrong size"):
        read_idx(long)


def test_write_rejects_types_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="int64.*astype"):
        write_idx(tmp_path / "x", np.arange(3))
    with pytest.raises(TypeError, match="bool"):
        write_idx(tmp_path / "x", np.zeros(3, bool))


def test_write_accepts_non_contiguous_and_big_endian_input(tmp_path):
    a = np.arange(20, dtype=np.int32).reshape(4, 5)[:, ::2]
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "nc", a)), a)
    b = np.arange(6, dtype=">f8")
    out = read_idx(write_idx(tmp_path / "be", b))
    assert out.dtype == np.float64 and out.dtype.isnative
    np.testing.assert_array_equal(out, b)
