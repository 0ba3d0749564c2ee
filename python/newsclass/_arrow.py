"""The pyarrow side of ``Model.predict_arrow``: a string array's buffers in, a table out.

Rust reads the buffers as bytes and writes each head's label indices and scores as bytes;
nothing here makes a Python object per row.
"""

import pyarrow as pa


def string_chunks(texts, what="predict_arrow"):
    """Per chunk of a string array: (length, offset, large, validity, offsets, data)."""
    if isinstance(texts, pa.ChunkedArray):
        chunks = texts.chunks
    elif isinstance(texts, pa.Array):
        chunks = [texts]
    else:
        raise TypeError(
            f"{what} takes a pyarrow string array or chunked array, not "
            + type(texts).__name__
        )
    out = []
    for c in chunks:
        t = c.type
        if pa.types.is_string(t):
            large = False
        elif pa.types.is_large_string(t):
            large = True
        elif pa.types.is_dictionary(t) and (
            pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)
        ) or getattr(pa.types, "is_string_view", lambda _: False)(t):
            c = c.cast(pa.large_string())
            large = True
        else:
            raise TypeError(
                f"{what} takes an array of strings (string or large_string), not {t}"
            )
        if len(c) == 0:
            continue
        validity, offsets, data = c.buffers()[:3]
        out.append(
            (
                len(c),
                c.offset,
                large,
                None if validity is None or c.null_count == 0 else validity.to_pybytes(),
                offsets.to_pybytes(),
                b"" if data is None else data.to_pybytes(),
            )
        )
    return out


def string_chunks_with_rows(texts):
    """``string_chunks`` with, first in each tuple, the row of the chunk's first element in the
    whole input (empty chunks are skipped but counted)."""
    if isinstance(texts, pa.ChunkedArray):
        chunks = texts.chunks
    elif isinstance(texts, pa.Array):
        chunks = [texts]
    else:
        raise TypeError(
            "classify_articles_arrow takes a pyarrow string array or chunked array, not "
            + type(texts).__name__
        )
    out, base = [], 0
    for c in chunks:
        for parts in string_chunks(c, "classify_articles_arrow"):
            out.append((base,) + parts)
        base += len(c)
    return out


def sentence_table(heads, labels, chunks):
    """The table of ``Model.classify_articles_arrow`` from its column buffers."""
    names = ["article", "sentence", "start", "end", "text"]
    types = [pa.int64(), pa.int32(), pa.int64(), pa.int64(), pa.large_string()]
    columns = {name: [] for name in names}
    for name in heads:
        columns[name] = []
        columns[name + "_score"] = []
    dictionaries = [pa.array(names_, pa.string()) for names_ in labels]
    for n, article, sentence, start, end, text_offsets, text_data, per_head in chunks:
        buf = pa.py_buffer
        columns["article"].append(pa.Array.from_buffers(pa.int64(), n, [None, buf(article)]))
        columns["sentence"].append(pa.Array.from_buffers(pa.int32(), n, [None, buf(sentence)]))
        columns["start"].append(pa.Array.from_buffers(pa.int64(), n, [None, buf(start)]))
        columns["end"].append(pa.Array.from_buffers(pa.int64(), n, [None, buf(end)]))
        columns["text"].append(
            pa.Array.from_buffers(pa.large_string(), n, [None, buf(text_offsets), buf(text_data)])
        )
        for h, name in enumerate(heads):
            indices, scores = per_head[h]
            columns[name].append(
                pa.DictionaryArray.from_arrays(
                    pa.Array.from_buffers(pa.int32(), n, [None, buf(indices)]), dictionaries[h]
                )
            )
            columns[name + "_score"].append(
                pa.Array.from_buffers(pa.float32(), n, [None, buf(scores)])
            )
    out = {}
    for name, t in zip(names, types):
        out[name] = pa.chunked_array(columns[name], t)
    for name in heads:
        out[name] = pa.chunked_array(columns[name], pa.dictionary(pa.int32(), pa.string()))
        out[name + "_score"] = pa.chunked_array(columns[name + "_score"], pa.float32())
    return pa.table(out)


def table(heads, labels, chunks):
    """A table with, per head, ``<head>`` (dictionary-encoded labels) and ``<head>_score``."""
    columns = {}
    for h, (name, names) in enumerate(zip(heads, labels)):
        dictionary = pa.array(names, pa.string())
        label_chunks, score_chunks = [], []
        for n, validity, per_head in chunks:
            valid = None if validity is None else pa.py_buffer(validity)
            indices, scores = per_head[h]
            label_chunks.append(
                pa.DictionaryArray.from_arrays(
                    pa.Array.from_buffers(pa.int32(), n, [valid, pa.py_buffer(indices)]),
                    dictionary,
                )
            )
            score_chunks.append(
                pa.Array.from_buffers(pa.float32(), n, [valid, pa.py_buffer(scores)])
            )
        columns[name] = pa.chunked_array(label_chunks, pa.dictionary(pa.int32(), pa.string()))
        columns[name + "_score"] = pa.chunked_array(score_chunks, pa.float32())
    return pa.table(columns)
