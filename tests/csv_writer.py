"""A CSV table written by a test: the header, then the rows (the tables' tests write their data this way)."""

import csv


def write_csv(path, rows, header) -> str:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)
