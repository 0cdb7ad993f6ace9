"""Warehouse URLs: the documented forms name the folder or file they say."""

from __future__ import annotations

from pathlib import Path

from fairshare.warehouse import resolve_url, spark_folder


def test_the_documented_spark_url_names_an_absolute_local_folder(tmp_path):
    # `pyspark:///{workspace}/spark` filled in is `pyspark:////tmp/.../spark`; read as `//tmp/...`, Hadoop
    # took `tmp` for a host and `fairshare import` failed with "No FileSystem for scheme null"
    url = resolve_url("pyspark:///{workspace}/spark", tmp_path)
    folder = spark_folder(url)
    assert folder == Path(tmp_path).resolve() / "spark"
    assert not str(folder).startswith("//")
    assert spark_folder("pyspark:///data/spark?spark.master=local[2]") == Path("/data/spark")
