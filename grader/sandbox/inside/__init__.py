"""Code that runs inside the sandbox beside student code: the wire format, worker and zygote."""
