"""The documentation's report pages: the benchmarks' own reports, as they wrote them.

Every benchmark and study script writes its report (Markdown tables, PNG plots,
CSV data) into `benchmarks/results/`. The documentation site shows those files
unchanged under `reports/`, at the same relative paths, so a report page is
always what the script that measured wrote, and a rerun updates the site:

- as an MkDocs hook (`hooks: [benchmarks/docs_pages.py]` in `mkdocs.yml`), the
  files are added to every build (nothing is copied into `docs/`);
- `python -m benchmarks.docs_pages OUT` writes the same pages into a folder,
  to read them without building the site.
"""

import argparse
import os
import shutil

from keras_fnet import fileio

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PREFIX = "reports"
KINDS = (".md", ".png", ".csv")


def report_files(results=RESULTS):
    """`(site path, file path)` of every report file, sorted by site path."""
    found = []
    for folder, _, names in os.walk(results):
        for name in names:
            if name.endswith(KINDS):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, results).replace(os.sep, "/")
                found.append((f"{PREFIX}/{relative}", path))
    return sorted(found)


def _title(path):
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    return first.lstrip("#").strip() if first.startswith("#") else os.path.basename(path)


def index_page(pages):
    """`reports/index.md`: every report with its own title, by folder."""
    lines = ["# All reports", "",
             "Every report the benchmark and study scripts wrote into `benchmarks/results/`, as "
             "they wrote it. A folder holds one run (a rerun, an A/B, a study at other settings).",
             ""]
    reports = sorted((os.path.dirname(uri), uri, path) for uri, path in pages
                     if uri.endswith(".md"))
    folder = None
    for _, uri, path in reports:
        relative = uri[len(PREFIX) + 1:]
        here = os.path.dirname(relative)
        if here != folder:
            folder = here
            lines += ["", f"## `{here}/`" if here else "## Committed runs", ""]
        lines.append(f"- [{_title(path)}]({relative})")
    return "\n".join(lines) + "\n"


def on_files(files, config):
    """MkDocs hook: add the reports and their index to the site's files (under `reports/`)."""
    from mkdocs.structure.files import File

    pages = report_files()
    for uri, path in pages:
        if files.get_file_from_path(uri) is not None:
            raise ValueError(f"docs/{uri} would hide the report {path}: remove it from docs/")
        files.append(File.generated(config, uri, abs_src_path=path))
    files.append(File.generated(config, f"{PREFIX}/index.md", content=index_page(pages)))
    return files


def write(out, results=RESULTS):
    """Copy the report pages into `out/reports/`; returns how many files."""
    pages = report_files(results)
    for uri, path in pages + [(f"{PREFIX}/index.md", None)]:
        target = os.path.join(out, *uri.split("/"))
        if path is None:
            fileio.write_file(target, index_page(pages))
        else:
            with fileio.whole_file(target) as temporary:
                shutil.copyfile(path, temporary)
    return len(pages) + 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder to write reports/ into")
    args = parser.parse_args(argv)
    print(f"wrote {write(args.out)} files into {os.path.join(args.out, PREFIX)}")


if __name__ == "__main__":
    main()
