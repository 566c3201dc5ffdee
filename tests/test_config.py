import dataclasses

import pytest

from kg.config import SETTINGS_DOC, Settings, load_settings
from kg.errors import ConfigError


def test_every_setting_is_documented():
    assert {f.name for f in dataclasses.fields(Settings)} == set(SETTINGS_DOC)


def test_layers_defaults_pyproject_env_overrides(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.kg]\nbase_iri = "https://example.org/a/"\nkeep_versions = 3\n')
    assert load_settings(cwd=tmp_path, env={}).base_iri == "https://example.org/a/"
    env = {"KG_BASE_IRI": "https://example.org/b/"}
    assert load_settings(cwd=tmp_path, env=env).base_iri == "https://example.org/b/"
    settings = load_settings({"base_iri": "https://example.org/c/"}, cwd=tmp_path, env=env)
    assert settings.base_iri == "https://example.org/c/"
    assert settings.keep_versions == 3
    assert settings.root == tmp_path.resolve()


def test_relative_paths_resolve_against_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.kg]\n")
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.path("seeds_dir") == tmp_path.resolve() / "seeds"


@pytest.mark.parametrize(
    "text",
    [
        "[tool.kg]\nunknown = 1\n",
        '[tool.kg]\nbase_iri = "no-scheme/"\n',
        '[tool.kg]\nkeep_versions = "many"\n',
        "[tool.kg\n",
        "[tool.kg]\nthreads = 0\n",
        "[tool.kg]\nmemory_copy_limit_mib = -1\n",
        "[tool.kg]\nmax_query_length = 0\n",
        "[tool.kg]\nmax_query_depth = 0\n",
        "[tool.kg]\nkeepalive_requests = 0\n",
        '[tool.kg]\nkeepalive_requests = "some"\n',
        "[tool.kg]\nrequest_timeout = 0\n",
        "[tool.kg]\nkeepalive_timeout = 0\n",
        "[tool.kg]\nmax_running_queries = 0\n",
        "[tool.kg]\nqueue_wait = 0\n",
        '[tool.kg]\nqueue_wait = "soon"\n',
        "[tool.kg]\nrunaway_penalty = -1\n",
        "[tool.kg]\nimport_timeout = 0\n",
        "[tool.kg]\nmax_query_memory = 0\n",
        "[tool.kg]\nmax_result_bytes = 0\n",
        '[tool.kg]\npublic_url = "ftp://x/"\n',
    ],
)
def test_bad_configuration_is_a_config_error(tmp_path, text):
    (tmp_path / "pyproject.toml").write_text(text + ("" if "[tool.kg]" in text else "\n[tool.kg]\n"))
    with pytest.raises(ConfigError):
        load_settings(cwd=tmp_path, env={})


def test_the_readme_settings_table_is_the_one_the_settings_document():
    from pathlib import Path

    from kg.config import settings_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n", readme.index("<!-- settings table")) + 1
    end = readme.index("<!-- end of settings table -->")
    assert readme[start:end] == settings_table(), "run: kg settings --markdown, and put its table in the README"
