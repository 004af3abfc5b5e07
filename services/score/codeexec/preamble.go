package codeexec

// preamble is what the interpreter runs with -c, before any of the
// program: it sets the limits, then compiles and executes the program file
// as __main__, so that its tracebacks name that file. Its argv is the
// program's path, the address-space, CPU-seconds, file-size and process
// limits (0: leave RLIMIT_NPROC alone).
//
// Exit codes: exitSyntax when the program does not compile, exitMemory on
// an uncaught MemoryError (after freeing the program's globals and locals,
// so that the traceback can be printed), exitSetup when the limits could
// not be set.
const preamble = `
def _assay_main():
    import os, resource, sys, traceback

    try:
        path = sys.argv[1]
        mem, cpu, fsize, nproc = (int(a) for a in sys.argv[2:6])

        def limit(res, soft, hard):
            cur = resource.getrlimit(res)[1]
            if cur != resource.RLIM_INFINITY:
                soft, hard = min(soft, cur), min(hard, cur)
            resource.setrlimit(res, (soft, hard))

        limit(resource.RLIMIT_CORE, 0, 0)
        limit(resource.RLIMIT_FSIZE, fsize, fsize)
        limit(resource.RLIMIT_CPU, cpu, cpu + 1)
        if nproc > 0:
            limit(resource.RLIMIT_NPROC, nproc, nproc)
        with open(path, "rb") as f:
            src = f.read()
        limit(resource.RLIMIT_AS, mem, mem)
    except BaseException:
        sys.stderr.write("codeexec preamble: setting up the program failed\n")
        traceback.print_exc()
        sys.exit(96)

    try:
        code = compile(src, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        traceback.print_exception(type(e), e, None)
        sys.exit(97)

    import __main__
    g = __main__.__dict__
    del g["_assay_main"]
    g["__file__"] = path
    sys.argv[:] = [path]
    del src
    try:
        exec(code, g)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__.tb_next
        status = 1
        if isinstance(e, MemoryError):
            status = 98
            traceback.clear_frames(tb)
            for k in [k for k in g if not k.startswith("__")]:
                del g[k]
        try:
            traceback.print_exception(type(e), e, tb)
        except BaseException:
            os.write(2, ("\n%s\n" % type(e).__name__).encode())
        sys.exit(status)

_assay_main()
`

const exitSetup = 96
