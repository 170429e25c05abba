"""Many letters: runs over folders and lists of letters, on one machine or a Ray cluster.

:mod:`~imr_llm.many.concurrent` is ``extract_many``'s runner (bounded concurrency, order kept,
failures collected, never lost); :mod:`~imr_llm.many.runlog` is what a run has done, so it can
resume; :mod:`~imr_llm.many.tables` writes records as the letters and items tables;
:mod:`~imr_llm.many.ray` runs the same work on Ray Data. Provider batch jobs (a Batch API at
half price) are another thing: :mod:`imr_llm.jobs`.
"""
