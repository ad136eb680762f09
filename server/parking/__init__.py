"""客车关系: parking spaces, who holds them (owned or rented, over time), and vehicles."""
