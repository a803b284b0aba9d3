from fintune.train.batching import EncodedTexts, epoch_batches


class _Tok:
    pad_token_id = 0

    def __call__(self, texts, truncation, max_length):
        return {"input_ids": [[1] * min(len(t.split()), max_length) for t in texts]}


def _data(n=300):
    texts = [" ".join(["w"] * (1 + (i * 7) % 40)) for i in range(n)]
    return EncodedTexts(_Tok(), texts, [i % 3 for i in range(n)], max_length=64)


def test_batches_cover_every_example_once_and_depend_only_on_seed_and_epoch():
    data = _data()
    a = epoch_batches(data, 16, seed=1, epoch=0, group_by_length=True)
    assert sorted(i for b in a for i in b) == list(range(len(data)))
    assert a == epoch_batches(data, 16, seed=1, epoch=0, group_by_length=True)
    assert a != epoch_batches(data, 16, seed=1, epoch=1, group_by_length=True)


def test_length_grouping_cuts_padding():
    data = _data()

    def padded(batches):
        return sum(max(len(data.input_ids[i]) for i in b) * len(b) for b in batches)

    grouped = padded(epoch_batches(data, 16, 1, 0, True))
    random = padded(epoch_batches(data, 16, 1, 0, False))
    assert grouped < 0.75 * random


def test_collate_pads_dynamically():
    data = _data(5)
    batch = data.collate([0, 1])
    assert batch["input_ids"].shape == (2, max(len(data.input_ids[0]), len(data.input_ids[1])))
    assert batch["attention_mask"].sum().item() == len(data.input_ids[0]) + len(data.input_ids[1])
