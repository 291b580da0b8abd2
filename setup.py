"""The optional compiled scoring loop (bot/retrieval/_scatter.c); everything else is in pyproject.toml.

optional: a machine without a C compiler installs the bot all the same, and bot.retrieval.topk
scores with numpy (the same floats, slower). -ffp-contract=off: the loop's products and sums are
never fused, so each is rounded as numpy rounds it. -O3 vectorizes the loops over a tile's
passages (the 200k library's top 32 by hand: 0.72 ms a question at -O3, 1.18 ms at -O2).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("bot.retrieval._scatter", ["bot/retrieval/_scatter.c"], optional=True,
                             extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math"])])
