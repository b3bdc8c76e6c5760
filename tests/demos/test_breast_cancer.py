"""The breast-cancer demo runs on the public API and finds the malignant rows."""

import io

from rich.console import Console

from latentwatch.demos.breast_cancer import breast_cancer_anomalies, run_demo


def test_breast_cancer_anomalies_hide_malignant_rows_among_benign_ones():
    X, y = breast_cancer_anomalies(n_anomalies=20, seed=0)
    assert X.shape == (377, 30) and y.sum() == 20


def test_demo_prints_both_detectors_with_their_top_features():
    out = io.StringIO()
    results = run_demo(seed=0, console=Console(file=out, width=200))
    text = out.getvalue()
    assert set(results) == {"AutoEncoderDetector", "VAEDetector"}
    for name, figures in results.items():
        assert figures["auc_roc"] > 0.7, (name, figures)
        assert f"{name}: AUC-ROC {figures['auc_roc']:.3f}" in text
    assert results["VAEDetector"]["auc_roc"] > 0.85
    # explanations name real columns with the value observed and the one expected
    assert "(expected about " in text and "worst " in text
