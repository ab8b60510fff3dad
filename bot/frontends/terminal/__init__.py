"""`gradcheck chat`: the terminal tutor."""
