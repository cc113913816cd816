"""The CPU backend: NumPy arrays, and all the speed machinery that only NumPy needs.

Threads and BLAS control, the workspace pool, im2col/col2im and strided windows live here;
the ops reach them through the backend, so another array library supplies its own.
"""
