"""One module per workflow; a handler imports the lower layers of steps/, never another handler."""
