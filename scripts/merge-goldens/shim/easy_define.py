# Stand-in for mergekit.merge_methods.easy_define: its decorator registers a pydantic task class
# around the function; the generator calls the decorated functions (the real math) directly, in
# the argument order easy_define's _execute passes them.


def merge_method(name, reference_url=None, pretty_name=None):
    def wrap(func):
        func.merge_method_name = name
        return func

    return wrap
