"""Vendor lead lists in: presets, header detection, reading any file as it comes, phones, the runner.

    from leadtui.importing.runner import run_import
    svc = Service.open("leads.db")
    summary = run_import(svc.db, Path("propstream.csv"), status=svc.playbook.initial, now=svc.now(),
                         list_name="Probate Q4")   # {inserted, merged, rejected, rejects_path, ...}

`source` reads a file (encoding, delimiter, binary or empty), `presets` knows the vendors'
headers, `rows` turns a row into a lead and its phones, `phones` normalises numbers fast,
`runner` streams batches: staged in scratch files (by `readers` processes for a big first load),
then matched, merged and stored by `store.imports`.
"""
