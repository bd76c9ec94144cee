"""The learned model's own parts: the vote, its per-class offsets and temperature, storage."""

import numpy as np
import pytest

from diversion.routing import learning

# Two families of short texts, written for these tests, and a third that only shares words with both.
TEXTS = {
    "wages": ["老板拖欠工资三个月", "公司不发工资", "包工头欠薪跑了", "工厂拖着工资不发", "干完活不给工钱",
              "单位欠我们工资", "年底了工资还没结", "老板跑路工资没发", "欠薪半年没人管"],
    "noise": ["楼上半夜唱歌很吵", "广场舞音响太大", "酒吧半夜噪音扰民", "工地夜里施工很吵", "隔壁装修噪音大",
              "楼下商铺喇叭太吵", "半夜有人打鼓", "噪音吵得睡不着", "音箱声音太大扰民"],
    "fumes": ["饭店油烟熏得家里全是味", "烧烤摊烟很大", "餐馆排烟对着窗户", "夜宵摊油烟呛人", "油烟机直排楼道",
              "烤串冒烟熏人", "饭馆油烟没人管", "楼下餐饮油烟扰民", "油烟味道太重"],
}


def _data():
    texts = [t for group in TEXTS.values() for t in group]
    labels = [label for label, group in TEXTS.items() for _t in group]
    return texts, labels


def test_the_vote_gives_probabilities_that_sum_to_one_and_learns_the_families():
    texts, labels = _data()
    model = learning.fit(texts, labels, kind="family", params={"min_df": 1})

    probs = model.predict_proba_dicts(["老板欠我工资不给", "楼上每天半夜很吵"])

    assert [max(p, key=p.get) for p in probs] == ["wages", "noise"]
    for p in probs:
        assert set(p) == set(TEXTS)
        assert sum(p.values()) == pytest.approx(1.0)
    vote = model.pipeline.vote
    assert vote.temperature > 0
    assert vote.bias.shape == (3,)


def test_without_enough_texts_per_class_for_the_folds_there_is_no_offset_and_no_temperature():
    texts, labels = _data()
    model = learning.fit(texts, labels, kind="family", params={"min_df": 1, "calibration_folds": 10})

    vote = model.pipeline.vote
    assert vote.temperature == 1.0
    assert not vote.bias.any()


def test_two_classes_work_too():
    texts, labels = _data()
    two = [(t, y) for t, y in zip(texts, labels, strict=True) if y != "fumes"]
    model = learning.fit([t for t, _y in two], [y for _t, y in two], kind="family", params={"min_df": 1})

    [(label, confidence)] = model.predict(["工资拖了好几个月"])
    assert label == "wages"
    assert 0.5 < confidence <= 1


def test_the_offsets_raise_macro_f1_where_the_vote_favours_one_class():
    # Held-out scores where class 1 always loses narrowly to class 0: an offset for class 1 fixes it.
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([[1.0, 0.0]] * 4 + [[0.6, 0.4]] * 4)
    before = learning._macro_f1(truth, scores.argmax(axis=1), 2)

    bias = learning._fit_bias(scores, truth)

    after = learning._macro_f1(truth, (scores + bias).argmax(axis=1), 2)
    assert before == pytest.approx(1 / 3)
    assert after == 1.0


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    truth, predicted = rng.integers(0, 5, 200), rng.integers(0, 5, 200)

    assert learning._macro_f1(truth, predicted, 5) == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_a_stored_model_predicts_what_it_predicted_before(tmp_path):
    texts, labels = _data()
    model = learning.fit(texts, labels, kind="family", params={"min_df": 1})
    path = tmp_path / "model.joblib"
    model.save(path)

    loaded = learning.TrainedModel.load(path)

    sample = ["油烟太大", "欠薪不给", "噪音扰民"]
    for before, after in zip(model.predict_proba_dicts(sample), loaded.predict_proba_dicts(sample), strict=True):
        assert after == pytest.approx(before)
    assert (loaded.kind, loaded.training_size) == ("family", len(texts))


def test_a_model_stored_under_the_modules_old_name_still_loads(monkeypatch):
    """Models stored before the move to diversion.routing name diversion.learning in their pickles."""
    import sys

    from core.errors import DomainError

    texts, labels = _data()
    model = learning.fit(texts, labels, kind="family", params={"min_df": 1})
    with monkeypatch.context() as m:
        for obj in list(vars(learning).values()):
            if callable(obj) and getattr(obj, "__module__", None) == learning.__name__:
                m.setattr(obj, "__module__", "diversion.learning")
        old = model.dumps()
    with monkeypatch.context() as m:
        m.delitem(sys.modules, "diversion.learning")
        with pytest.raises(DomainError) as refused:
            learning.TrainedModel.loads(old)
        assert isinstance(refused.value.__cause__, ModuleNotFoundError)  # the old name is what the bytes ask for

    loaded = learning.TrainedModel.loads(old)

    sample = ["油烟太大", "欠薪不给"]
    assert loaded.predict(sample) == model.predict(sample)


@pytest.mark.parametrize(("families", "params"), [
    (["wages", "noise", "fumes"], {"min_df": 1}),
    (["wages", "noise"], {"min_df": 1}),  # two classes: scaled, not standardised
    (["wages", "noise", "fumes"], {"min_df": 1, "words": True, "neighbours": 3, "max_features": 50}),
])
def test_the_compiled_model_predicts_what_the_scikit_learn_pipeline_predicts(families, params):
    from diversion.routing.compact import compile_pipeline

    texts, labels = _data()
    pairs = [(t, y) for t, y in zip(texts, labels, strict=True) if y in families]
    pipeline, _used = learning.build_pipeline(params, kind="family")
    pipeline.fit([t for t, _y in pairs], [y for _t, y in pairs])
    sample = ["老板欠我工资不给", "楼上每天  半夜很吵", "烧烤", "", "ABC 123 油烟\n\n太大", "完全无关的一句话"]

    compiled = compile_pipeline(pipeline)

    assert list(compiled.classes_) == list(pipeline.classes_)
    np.testing.assert_allclose(compiled.predict_proba(sample), pipeline.predict_proba(sample), rtol=1e-4, atol=1e-5)


def test_a_worker_loads_and_runs_a_model_without_scikit_learn(tmp_path):
    import subprocess
    import sys

    texts, labels = _data()
    path = tmp_path / "model.bin"
    learning.fit(texts, labels, kind="family", params={"min_df": 1}).save(path)
    probe = (
        "import sys, django; django.setup()\n"
        "from diversion.routing.learning import TrainedModel\n"
        f"m = TrainedModel.load({str(path)!r})\n"
        "print(m.predict(['楼上半夜很吵'])[0][0])\n"
        "print(sorted(n for n in ('sklearn', 'joblib', 'jieba') if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True,
                         env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings"})

    assert out.stdout.split("\n")[:2] == ["noise", "[]"]


def test_a_model_file_of_an_earlier_version_is_refused_with_a_message(tmp_path):
    import io

    import joblib

    from core.errors import DomainError

    buffer = io.BytesIO()
    joblib.dump({"format": 1, "kind": "family"}, buffer, compress=3)
    with pytest.raises(DomainError, match="train_routing_model"):
        learning.TrainedModel.loads(buffer.getvalue())
    with pytest.raises(DomainError):
        learning.TrainedModel.loads(b"not a model")
