"""One readable sentence per Pactline expectation in GX Data Docs.

GX's fallback renders `expectation_type(**kwargs)`, which would dump whole parameter dicts (the
drift reference, ignore patterns) into the page. Only scalar parameters go into the sentence, and
the observed value GX shows next to it is always a number, never data.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer


class SentenceRenderer:
    """Mixin: `sentence` is a GX string template ($name is replaced by kwargs[name])."""

    sentence: ClassVar[str] = ""
    threshold_keys: ClassVar[tuple[str, ...]] = ()  # the parameters a result is judged against

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration: Any = None, result: Any = None,
                               runtime_configuration: Any = None, **kwargs: Any) -> list:
        if configuration is None and result is not None:
            configuration = result.expectation_config
        params: dict[str, Any] = {}
        if configuration is not None:
            # the configuration's kwargs omit parameters left at their default; the model has them all
            model = configuration.to_domain_obj()
            for name in re.findall(r"\$(\w+)", cls.sentence):
                value = getattr(model, name, None)
                if isinstance(value, list):
                    value = ", ".join(map(str, value))
                if isinstance(value, str | int | float | bool):
                    params[name] = value
        styling = (runtime_configuration or {}).get("styling")
        return [RenderedStringTemplateContent(
            content_block_type="string_template",
            string_template={"template": cls.sentence, "params": params, "styling": styling},
        )]
