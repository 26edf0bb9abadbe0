# Run inside the nbgrader engine's sandboxed kernel at its start (IPKernelApp.exec_files,
# see course/nbconfig.py): the cell time limit holds whatever the cell catches. nbclient stops a
# cell at its time limit by interrupting the kernel once (SIGINT: a KeyboardInterrupt); a
# cell that catches it and goes on would keep the kernel busy, and every later cell would
# reach its limit too. From that interrupt until the cell ends, every line of the cell's
# own code raises KeyboardInterrupt again, so ``while True: try: ... except BaseException:
# pass`` ends at its ``pass`` and the stop costs that cell only, as in the fast engine
# (forkserver.py). Standard library and IPython only; defines no name in the notebook.


def _hcwh_stop_cells_at_their_limit():
    import signal
    import sys

    shell = get_ipython()  # noqa: F821 - run by IPython
    kernel = shell.kernel
    cells = shell.compile._filename_map  # the file name of each cell's code
    state = {"stopping": False}

    def stop_lines(frame, event, arg):
        if state["stopping"] and event == "line" and frame.f_code.co_filename in cells:
            raise KeyboardInterrupt("stopped at the cell's time limit")
        return stop_lines

    def on_interrupt(signum, frame):
        state["stopping"] = True
        sys.settrace(stop_lines)  # frames the cell starts from now on
        f = frame
        while f is not None:  # and the cell's frames running now
            if f.f_code.co_filename in cells:
                f.f_trace, f.f_trace_lines = stop_lines, True
            f = f.f_back
        raise KeyboardInterrupt

    def pre_handler_hook():  # ipykernel's own sets default_int_handler for each request
        kernel.saved_sigint_handler = signal.signal(signal.SIGINT, on_interrupt)

    def cell_ended(*args):
        state["stopping"] = False
        sys.settrace(None)

    kernel.pre_handler_hook = pre_handler_hook
    shell.events.register("post_run_cell", cell_ended)


_hcwh_stop_cells_at_their_limit()
del _hcwh_stop_cells_at_their_limit
