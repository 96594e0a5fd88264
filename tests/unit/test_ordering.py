from imgsync import ordering


def test_build_ids_in_natural_order():
    ids = ["20240423", "20240423.10", "20240423.9", "4081.2.0", "4081.10.0", "9.7-20251123.2",
           "10.1-20251116.0", "20240101-1500", "44-1.7"]
    assert sorted(ids, key=ordering.natural_key) == [
        "9.7-20251123.2", "10.1-20251116.0", "44-1.7", "4081.2.0", "4081.10.0",
        "20240101-1500", "20240423", "20240423.9", "20240423.10"]


def test_mixed_text_and_numbers_never_compare_int_with_str():
    assert sorted(["a1", "1a", "b"], key=ordering.natural_key) == ["1a", "a1", "b"]
