"""aiortc: offers and answers, trickle ICE, ICE configuration, the data channel, output and input tracks."""
