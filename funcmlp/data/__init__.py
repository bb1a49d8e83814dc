"""Data sets: the built-in ones (digits, logic gates, regression, the house price) and MNIST files.

Contract::

    datasets.py   load_dataset(name, seed, path) -> Dataset(x/y train, validation, test, classes); DATASETS
    mnist.py      IDX files (gzip or not) and Kaggle's CSV, read with their sizes checked

numpy arrays in, numpy arrays out; imports nothing of funcmlp's but itself.
"""
