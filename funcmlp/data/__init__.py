"""Data sets: the built-in ones (digits, logic gates, regression, the house price), MNIST files and tables.

Contract::

    datasets.py   load_dataset(name, seed, path) -> Dataset(x/y train, validation, test, classes); DATASETS
    mnist.py      IDX files (gzip or not) and Kaggle's CSV, read with their sizes checked
    table.py      read_table(path) / sklearn_table(name) -> Table (named columns of text cells, None missing);
                  its missing cells, checked
    table_columns.py  numeric_columns(table): numbers, numbers in another notation (refused), text; id columns
                  and one-hot features bounded; a numeric column's scale, safe near 1e300
    preprocessing.py  fit_preprocessing(table, target) -> Preprocessing (standardise, one-hot, class names),
                  applied to a table's rows and saved as JSON in the model file
    table_split.py    split_table(table, target, ...) -> TableData (missing refused or dropped, a seeded split,
                  the preprocessing fitted on the training rows, the arrays)

numpy arrays in, numpy arrays out; imports nothing of funcmlp's but itself and funcmlp.sources (the one reader).
"""
