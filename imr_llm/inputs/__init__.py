"""Inputs: a letter file becomes text the letter-form layer can read.

The first stage of the pipeline. :mod:`~imr_llm.inputs.files` knows a file by its bytes (text in
any common encoding, a PDF, or something refused with a typed error);
:mod:`~imr_llm.inputs.pdf` reads a PDF's text layer and renders its scanned pages, which
:mod:`~imr_llm.inputs.ocr` reads with an OCR engine; :mod:`~imr_llm.inputs.normalise` turns the
text into lines with their offsets and sets the page furniture aside. Nothing here knows the
letter's form.
"""
